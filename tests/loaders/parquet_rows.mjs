// node parquet_rows.mjs <expected.jsonl> <file.parquet>: reads the file with DuckDB and with
// hyparquet and checks that each returns exactly the expected rows (one JSON object a line, as
// parquet_sample writes them): every column of every row, null apart from "", timestamps as
// UTC microseconds. Exits 1 naming the first difference of each reader.
// node parquet_rows.mjs --export <export.jsonl> <file.parquet>: the same for `bdd export
// --format parquet` against `bdd export --format jsonl` of the same study: the same events in
// the same order, each field equal (data as JSON, times as the instant of the jsonl text).
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const modules = process.env.BDD_LOADERS_NODE_MODULES || path.join(here, 'node_modules')
const require = createRequire(path.join(modules, 'noop.js'))
const { DuckDBInstance } = require('@duckdb/node-api')
const { parquetReadObjects, asyncBufferFromFile } = await import(
  path.join(modules, 'hyparquet', 'src', 'node.js'))
const { compressors } = await import(path.join(modules, 'hyparquet-compressors', 'src', 'index.js'))

const args = process.argv.slice(2)
const fromExport = args[0] === '--export'
const [expectedPath, file] = fromExport ? args.slice(1) : args
const columns = ['id', 'study_name', 'user_id', 'event_type', 'element_id', 'page_url', 'timestamp',
  'stored_timestamp', 'timestamp_text', 'stored_timestamp_text', 'data']
const expected = readFileSync(expectedPath, 'utf8').split('\n').filter((line) => line !== '')
  .map((line) => fromExport ? exportRow(line) : JSON.parse(line))

// What a row of `bdd export --format jsonl` must be in the parquet file: the texts as they
// are, a time as its instant when JavaScript reads it (the fake server's ISO-8601 times with a
// zone, to the millisecond) and else as the *_text column, data as its JSON.
function exportRow(line) {
  const event = JSON.parse(line)
  const row = {}
  for (const name of ['id', 'study_name', 'user_id', 'event_type', 'element_id', 'page_url']) {
    row[name] = event[name] ?? null
  }
  for (const name of ['timestamp', 'stored_timestamp']) {
    const text = event[name] ?? null
    const millis = text === null || !/^\d{4}-\d\d-\d\dT.*(Z|[+-]\d\d:\d\d)$/.test(text) ? NaN : Date.parse(text)
    row[name] = Number.isNaN(millis) ? null : { millis }
    row[`${name}_text`] = Number.isNaN(millis) ? text : null
  }
  row.data = { json: event.data }
  return row
}

function equal(got, want) {
  if (want !== null && typeof want === 'object' && 'millis' in want) {
    return got !== null && Math.floor(Number(BigInt(got) / 1000n)) === want.millis
  }
  if (want !== null && typeof want === 'object' && 'json' in want) {
    return got !== null && JSON.stringify(JSON.parse(got)) === JSON.stringify(want.json)
  }
  return got === want
}

async function duckdb() {
  const connection = await (await DuckDBInstance.create(':memory:')).connect()
  const select = columns.map((name) => name.endsWith('timestamp')
    ? `CAST(epoch_us("${name}") AS VARCHAR) AS "${name}"` : `CAST("${name}" AS VARCHAR) AS "${name}"`)
  const result = await connection.runAndReadAll(
    `SELECT ${select.join(', ')} FROM read_parquet('${file.replaceAll("'", "''")}')`)
  return result.getRowObjectsJson()
}

async function hyparquet() {
  const decoder = new TextDecoder()
  return parquetReadObjects({
    file: await asyncBufferFromFile(file),
    compressors,
    parsers: {
      timestampFromMicroseconds: (micros) => micros.toString(),
      jsonFromBytes: (bytes) => bytes && decoder.decode(bytes), // the stored text, byte for byte
    },
  })
}

function compare(reader, rows) {
  if (rows.length !== expected.length) {
    return `${reader}: ${rows.length} rows, expected ${expected.length}`
  }
  for (let i = 0; i < rows.length; i++) {
    for (const name of columns) {
      const got = rows[i][name] === undefined ? null : rows[i][name]
      const want = expected[i][name]
      if (!equal(got, want)) {
        const show = (value) => JSON.stringify(value)?.slice(0, 200)
        return `${reader}: row ${i} column ${name}: ${show(got)}, expected ${show(want)}`
      }
    }
  }
  return ''
}

let failed = false
for (const [name, read] of [['duckdb', duckdb], ['hyparquet', hyparquet]]) {
  let problem
  try {
    problem = compare(name, await read())
  } catch (error) {
    problem = `${name}: cannot read ${file}: ${error.message}`
  }
  if (problem) {
    console.error(`FAIL: ${problem}`)
    failed = true
  } else {
    console.log(`ok: ${name} read ${expected.length} rows of ${path.basename(file)}`)
  }
}
process.exit(failed ? 1 : 0)
