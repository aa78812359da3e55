"""The Voice API's contract: response codes, messages, rules, request validation, wire bodies."""
