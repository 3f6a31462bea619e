"""Training: losses, class weighting, schedules, the trainer and its checkpoints."""
