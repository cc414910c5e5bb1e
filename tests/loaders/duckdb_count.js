// node duckdb_count.js '<SELECT ...>': print how many rows the README's DuckDB query returns.
// Run from the folder the query's relative paths start at, with NODE_PATH naming the
// node_modules that holds @duckdb/node-api (tests/loaders/run.sh does both).
const { DuckDBInstance } = require('@duckdb/node-api');

(async () => {
  const query = process.argv[2].trim().replace(/;$/, '');
  const connection = await (await DuckDBInstance.create(':memory:')).connect();
  const result = await connection.runAndReadAll(`SELECT count(*) FROM (${query})`);
  console.log(String(result.getRows()[0][0]));
})().catch((error) => {
  console.error(error.message);
  process.exit(1);
});
