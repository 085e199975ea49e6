"""Scorecard model: logistic regression on WoE, points scaling, grades and the JSON artifact."""
