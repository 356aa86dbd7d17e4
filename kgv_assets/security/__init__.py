"""Security and personal data: logins, TLS, GDPR erasure and export (issue 16)."""
