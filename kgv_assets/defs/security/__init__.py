"""Security and personal data: the GDPR erasure job (issue 16)."""
