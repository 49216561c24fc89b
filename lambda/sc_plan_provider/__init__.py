"""Provider function: applies Service Catalog provisioned product plans for CloudFormation custom resources."""
