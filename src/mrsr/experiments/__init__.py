"""One package per paper: its data, evaluation, figures, paper values and claims."""
