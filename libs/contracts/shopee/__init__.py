"""Generated protobuf and gRPC code for the contracts in proto/ (see shopee_codegen)."""
