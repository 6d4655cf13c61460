// Runs every graphql-http server audit against the URL given as the first argument and prints
// one line per audit, then the counts. Exits non-zero when any MUST audit fails.
import { serverAudits } from 'graphql-http';

const url = process.argv[2] ?? 'http://127.0.0.1:8080/graphql';
const results = [];
for (const audit of serverAudits({ url, fetchFn: fetch })) {
  results.push(await audit.fn());
}

const counts = {};
for (const result of results) {
  const level = result.name.split(' ')[0];
  counts[level] ??= { ok: 0, warn: 0, error: 0 };
  counts[level][result.status] += 1;
  const mark = result.status === 'ok' ? 'ok  ' : result.status === 'warn' ? 'WARN' : 'FAIL';
  const reason = result.status === 'ok' ? '' : ` -- ${result.reason}`;
  console.log(`${mark} ${result.id} ${result.name}${reason}`);
}
for (const [level, count] of Object.entries(counts)) {
  const total = count.ok + count.warn + count.error;
  console.log(`graphql-http ${level}: ${count.ok}/${total} passed`);
}
const mustFailures = results.filter((result) => result.status === 'error').length;
process.exit(mustFailures === 0 ? 0 : 1);
