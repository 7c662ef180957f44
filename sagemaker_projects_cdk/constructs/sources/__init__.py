"""Where pipelines' code comes from: CodeCommit or CodeConnections, seeded repositories."""
