"""Property-based fuzzing of connect/disconnect churn (Hypothesis), on either backend.

``run_campaign(ChurnSettings(...))`` runs ``ChurnMachine`` within a budget and
returns its verdict and coverage; ``saltsim fuzz`` and ``make fuzz-churn`` are
the command line over it.
"""

from saltsim.churn.campaign import Campaign, ChurnFailure, ChurnSettings
from saltsim.churn.coverage import REQUIRED, Coverage
from saltsim.churn.fuzz import CampaignResult, run_campaign
from saltsim.churn.model import ChurnModel, Effect, Expected, JobPlan

__all__ = [
    "REQUIRED",
    "Campaign",
    "CampaignResult",
    "ChurnFailure",
    "ChurnModel",
    "ChurnSettings",
    "Coverage",
    "Effect",
    "Expected",
    "JobPlan",
    "run_campaign",
]
