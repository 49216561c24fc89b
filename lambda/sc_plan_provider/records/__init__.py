"""The provider's own records: who owns each product, what each plan gave it, and each request's one answer."""
