"""What the workflows decide: the plan comment, the deploy gate, drift, promotion, the rehearsal."""
