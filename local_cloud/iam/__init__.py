"""IAM for the local cloud: ``policy`` evaluates identity-based policies as IAM does (explicit deny,
then allow, else implicit deny); ``role`` reads a function's execution role from its template.

Nothing is re-exported here: the request gate needs ``policy`` while the CloudFormation package
(which ``role`` reads templates with) itself uses the gate, so each is imported from its module.
"""
