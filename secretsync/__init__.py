"""secretsync: move account-specific values out of GitOps trees into Doppler."""

__version__ = "0.1.0"
