"""Crisis response (issue 5): from a member's request for assistance to a decision, force
generation, deployment and withdrawal. First step: the decision rule (``rules``)."""
