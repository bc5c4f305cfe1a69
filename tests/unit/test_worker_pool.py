"""How `siteguard controller --workers N` shares the database's connections among its workers."""
from siteguard_cli import worker_pool_env


def test_the_connection_budget_is_shared_among_the_workers_with_a_quarter_as_overflow():
    env = worker_pool_env(4, {})
    assert env == {"SITEGUARD_DB_POOL_SIZE": "12", "SITEGUARD_DB_MAX_OVERFLOW": "4"}
    assert 4 * (int(env["SITEGUARD_DB_POOL_SIZE"]) + int(env["SITEGUARD_DB_MAX_OVERFLOW"])) <= 64


def test_a_larger_budget_and_one_worker():
    assert worker_pool_env(1, {"SITEGUARD_DB_CONNECTIONS": "200"}) == {
        "SITEGUARD_DB_POOL_SIZE": "150", "SITEGUARD_DB_MAX_OVERFLOW": "50"}


def test_many_workers_still_keep_a_few_connections_each():
    env = worker_pool_env(64, {})
    assert int(env["SITEGUARD_DB_POOL_SIZE"]) >= 3


def test_sizes_set_by_the_operator_are_left_alone():
    assert worker_pool_env(4, {"SITEGUARD_DB_POOL_SIZE": "30"}) == {}
