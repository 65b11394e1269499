"""The try-on pipeline, one module per job; ``django_tryon.services`` is its public face."""
