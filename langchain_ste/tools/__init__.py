"""Tools as exploration meets them: execution, isolation, output, policy, redaction, loading."""
