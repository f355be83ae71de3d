"""Tests of the ESL client core (fscontrol.esl)."""
