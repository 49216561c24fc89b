"""Provider function: applies Service Catalog provisioned product plans for CloudFormation custom resources."""

# The project's one version: pyproject.toml reads it from here, the construct library re-exports it.
__version__ = "0.3.0"
