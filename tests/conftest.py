pytest_plugins = ["tests.support.fixtures", "tests.support.db", "tests.support.api"]
