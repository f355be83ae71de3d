"""Site configuration: one TOML file loaded into typed, immutable objects, validated with key paths."""

from .load import load, parse, validate
from .model import (ApiConfig, CallViaWorkConfig, Config, DatabaseConfig, FeatureCodes, HaConfig, MusicClass, OrbitRange, ParkConfig,
                    PickupGroup, Secret, SwitchConfig, User)

__all__ = ["load", "parse", "validate", "ApiConfig", "CallViaWorkConfig", "Config", "DatabaseConfig", "FeatureCodes", "HaConfig", "MusicClass", "OrbitRange",
           "ParkConfig", "PickupGroup", "Secret", "SwitchConfig", "User"]
