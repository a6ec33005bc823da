"""Ground-truth simulator: realistic RSVP recording sessions in the real file formats.

    from neuroit.simulate import simulate_session, load_ground_truth
    session = simulate_session("session", seed=0, duration_s=60)
    gt = load_ground_truth(session)      # spike times, presentations, rates, sites, clock

The session folder holds ``intan/`` (Intan RHD files), ``mworks/session.mwk2``,
``stimuli.csv``, ``ground_truth/`` and ``simulation.json``.
"""
from __future__ import annotations

from neuroit.simulate._stimuli import CLASSES, DOMAINS, default_stimuli
from neuroit.simulate.ground_truth import GroundTruth, load_ground_truth
from neuroit.simulate.session import simulate_session

__all__ = ["simulate_session", "load_ground_truth", "GroundTruth", "default_stimuli", "CLASSES", "DOMAINS"]
