"""Abnar, Dehghani & Zuidema (2020), Transferring Inductive Biases through Knowledge Distillation:
LSTM vs Transformers on subject-verb agreement, CNN vs MLP on (corrupted) MNIST, calibration and
representational similarity of teachers, students and independent models."""
