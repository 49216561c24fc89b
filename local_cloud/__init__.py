"""The local cloud: Service Catalog emulator, CloudFormation driver and Lambda runtime, run on 127.0.0.1."""
