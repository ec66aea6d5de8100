"""saas_lifecycle: raw SaaS data to lifecycle marts."""
