// Engine selection for the integration suite. By default the tests use the engines that
// `infra/up` runs on loopback (or whatever KAFKA_BROKERS / CLICKHOUSE_URL name). With
// TEST_ENGINES=testcontainers and a Docker engine, modern ClickHouse, Kafka and PostgreSQL containers are
// started here instead and every test (and every service it spawns) is pointed at them.

const CLICKHOUSE_IMAGE = 'clickhouse/clickhouse-server:24.8';
/** Confluent Platform 8.0 is Apache Kafka 4.0 in KRaft mode; the testcontainers Kafka module drives Confluent images. */
const KAFKA_IMAGE = 'confluentinc/cp-kafka:8.0.0';
const KAFKA_CLIENT_PORT = 9093;
const POSTGRES_IMAGE = 'postgres:15';

export default async function setup(): Promise<(() => Promise<void>) | undefined> {
  if (process.env.TEST_ENGINES !== 'testcontainers') return undefined;
  const [{ ClickHouseContainer }, { KafkaContainer }, { PostgreSqlContainer }] = await Promise.all([
    import('@testcontainers/clickhouse'),
    import('@testcontainers/kafka'),
    import('@testcontainers/postgresql'),
  ]);
  const [clickhouse, kafka, postgres] = await Promise.all([
    new ClickHouseContainer(CLICKHOUSE_IMAGE).start(),
    new KafkaContainer(KAFKA_IMAGE).start(),
    new PostgreSqlContainer(POSTGRES_IMAGE).withUsername('confidant').withPassword('confidant').start(),
  ]);
  // Test workers are forked after global setup and inherit this environment.
  process.env.CLICKHOUSE_URL = clickhouse.getHttpUrl();
  process.env.CLICKHOUSE_USER = clickhouse.getUsername();
  process.env.CLICKHOUSE_PASSWORD = clickhouse.getPassword();
  process.env.KAFKA_BROKERS = `${kafka.getHost()}:${kafka.getMappedPort(KAFKA_CLIENT_PORT)}`;
  process.env.POSTGRES_URL = postgres.getConnectionUri();
  return async () => {
    await Promise.all([clickhouse.stop(), kafka.stop(), postgres.stop()]);
  };
}
