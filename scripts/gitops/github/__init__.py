"""The GitHub REST client the pipeline uses, and a loopback stand-in of it for tests."""
