"""Before the first batch: saved defaults (``_config``), account setup and the doctor's checks."""
