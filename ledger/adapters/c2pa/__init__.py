"""Content Credentials (C2PA) through c2pa-python: reading any manifest an image carries (``reader``), and
signing the file a publisher publishes (``writer``, ``signers``, ``test_ca``)."""
