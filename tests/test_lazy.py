"""neuroit._lazy: the stage packages' lazy exports and the optional-dependency import."""
import pytest

from neuroit._lazy import import_optional


def test_import_optional_names_the_extra():
    assert import_optional("json", "models").dumps([1]) == "[1]"
    with pytest.raises(ImportError, match=r'needs no_such_package_xyz; .*pip install "neuroit\[nwb\]"'):
        import_optional("no_such_package_xyz.sub", "nwb")
    from neuroit.models._deps import import_optional as models_import

    with pytest.raises(ImportError, match=r'pip install "neuroit\[models\]"'):
        models_import("no_such_package_xyz")


def test_stage_packages_export_lazily():
    import neuroit.models as models
    import neuroit.stimuli as stimuli
    from neuroit.models import FeatureCache, list_models
    from neuroit.stimuli import DOMAINS, read_stimulus_set

    assert "read_stimulus_set" in dir(stimuli) and "extract_features" in dir(models)
    assert callable(read_stimulus_set) and callable(list_models) and FeatureCache and DOMAINS[0] == "hvm"
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        stimuli.nope
