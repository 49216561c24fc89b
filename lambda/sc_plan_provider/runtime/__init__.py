"""How the function runs in Lambda and talks to CloudFormation: one answer per request, delivered, handed over."""
