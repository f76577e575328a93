"""Reference servers of the contracts our payment rails speak (docs/rails.md): small, standard library only."""
