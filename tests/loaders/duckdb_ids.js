// node duckdb_ids.js <study folder>: print the id of every row DuckDB reads from the study's
// Parquet part files (`read_parquet('<folder>/**/*.parquet')`), one per line, for the e2e tests
// of the parquet storage format. NODE_PATH names the node_modules that holds @duckdb/node-api.
const { DuckDBInstance } = require('@duckdb/node-api');

(async () => {
  const folder = process.argv[2].replace(/'/g, "''");
  const connection = await (await DuckDBInstance.create(':memory:')).connect();
  const result = await connection.runAndReadAll(
    `SELECT id FROM read_parquet('${folder}/**/*.parquet', hive_partitioning = false)`);
  process.stdout.write(result.getRows().map((row) => String(row[0])).join('\n') + '\n');
})().catch((error) => {
  console.error(error.message);
  process.exit(1);
});
