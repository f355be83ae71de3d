"""Rendering the dialplan and switch configuration from templates/, validating it, and deploying
it safely (atomic replace, previous version kept, reloadxml over ESL)."""

from .deploy import DeployResult, deploy, reload_if_pending
from .render import render_files, render_to

__all__ = ["render_files", "render_to", "deploy", "DeployResult", "reload_if_pending"]
