"""Sign-in looks a username up whatever its case (accounts.backends: username__iexact, i.e.
UPPER(username) = UPPER(%s)). Without an index on that expression every sign-in read the whole
user table: 0.34 s per token at 260,000 customers, the web surge's first limit. auth_user belongs
to django.contrib.auth, so the index is made here."""

from django.db import migrations

INDEX = "accounts_user_username_upper_idx"


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]

    operations = [
        migrations.RunSQL(
            f"CREATE INDEX {INDEX} ON auth_user (UPPER(username))",
            reverse_sql=f"DROP INDEX {INDEX}",
        )
    ]
