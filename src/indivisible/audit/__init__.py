"""The record of who changed what, when, with the state before and after."""
