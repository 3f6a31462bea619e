"""fps-against-accuracy reports: the benchmark table (terminal, CSV, JSON) and the Pareto plot."""
