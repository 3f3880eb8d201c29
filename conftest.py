# Makes the project root importable (config, components, tests.harness) for pytest.
