"""Signals the claims app sends to the apps above it."""

from django.dispatch import Signal

# Sent inside the approval transaction with the newly approved claims (see
# claims.services._payouts_hand_off). Arguments: sender, claim_ids (list[int]),
# incident_id (int). A claim can be sent again after a successful appeal, with a
# higher approved amount; the payout side pays the difference.
claims_approved = Signal()
