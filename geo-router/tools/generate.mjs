// Generates the geo-router's embedded lookup tables from public data packages:
//   ../data/ip-country.bin  IPv4 and IPv6 prefix -> country (see README.md for the format)
//   ../data/countries.csv   country -> representative latitude/longitude
// Run: cd geo-router/tools && npm install && npm run generate
// Inputs: @ip-location-db/geo-whois-asn-country (CC BY 4.0, NRO) and world-countries (ODbL).
import fs from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const IP_DIR = 'node_modules/@ip-location-db/geo-whois-asn-country/';
const OUT_DIR = new URL('../data/', import.meta.url);

// Granularity keeps the table small: routing only needs the right continent, and one
// /20 (IPv4) or /24 (IPv6) block rarely spans two of them. Each block takes the country
// holding most of its addresses; blocks with no data are "ZZ" (unknown).
const V4 = { file: 'geo-whois-asn-country-ipv4-num.csv', bits: 32n, prefix: 20n };
const V6 = { file: 'geo-whois-asn-country-ipv6-num.csv', bits: 128n, prefix: 24n };
const UNKNOWN = 'ZZ';

const countries = require('world-countries');
const coordinates = countries
  .filter((country) => Array.isArray(country.latlng) && country.latlng.length === 2)
  .map((country) => [country.cca2, country.latlng[0], country.latlng[1]])
  .sort((a, b) => a[0].localeCompare(b[0]));
const countryIndex = new Map([[UNKNOWN, 0]]);
for (const [code] of coordinates) if (!countryIndex.has(code)) countryIndex.set(code, countryIndex.size);
if (countryIndex.size > 256) throw new Error('country index must fit one byte');

/** Block-level runs `[firstBlock, country]`, sorted, adjacent equal countries merged. */
function blockRuns({ file, bits, prefix }) {
  const shift = bits - prefix;
  const blockSize = 1n << shift;
  const partial = new Map(); // block -> Map(country -> address count)
  const whole = []; // [firstBlock, lastBlock, country] for blocks fully inside one range
  const lines = fs.readFileSync(IP_DIR + file, 'utf8').trim().split('\n');
  for (const line of lines) {
    const [startText, endText, rawCountry] = line.split(',');
    const country = countryIndex.has(rawCountry) ? rawCountry : UNKNOWN;
    const start = BigInt(startText);
    const end = BigInt(endText);
    const vote = (block, from, to) => {
      const votes = partial.get(block) ?? new Map();
      votes.set(country, (votes.get(country) ?? 0n) + (to - from + 1n));
      partial.set(block, votes);
    };
    const first = start >> shift;
    const last = end >> shift;
    if (first === last) {
      vote(first, start, end);
      continue;
    }
    let firstWhole = first;
    let lastWhole = last;
    if (start !== first << shift) { vote(first, start, ((first + 1n) << shift) - 1n); firstWhole += 1n; }
    if (end !== ((last + 1n) << shift) - 1n) { vote(last, last << shift, end); lastWhole -= 1n; }
    if (firstWhole <= lastWhole) whole.push([firstWhole, lastWhole, country]);
  }
  const assigned = []; // [first, last, country]
  for (const [block, votes] of partial) {
    let best = UNKNOWN;
    let bestCount = -1n;
    for (const [country, count] of votes) if (count > bestCount) { best = country; bestCount = count; }
    assigned.push([block, block, best, bestCount]);
  }
  // A block both partially voted and wholly covered cannot happen: ranges do not overlap.
  for (const [first, last, country] of whole) assigned.push([first, last, country, blockSize]);
  assigned.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const runs = [];
  let nextBlock = 0n;
  const push = (block, country) => {
    if (runs.length && runs[runs.length - 1][1] === country) return;
    runs.push([block, country]);
  };
  for (const [first, last, country] of assigned) {
    if (first > nextBlock) push(nextBlock, UNKNOWN);
    push(first, country);
    nextBlock = last + 1n;
  }
  if (nextBlock < 1n << prefix) push(nextBlock, UNKNOWN);
  return runs;
}

function records(runs) {
  const buffer = Buffer.alloc(runs.length * 4);
  runs.forEach(([block, country], i) => {
    buffer.writeUInt32BE(Number(block) * 256 + countryIndex.get(country), i * 4);
  });
  return buffer;
}

const v4 = blockRuns(V4);
const v6 = blockRuns(V6);
const codes = [...countryIndex.keys()];
const header = Buffer.alloc(4 + 2 + codes.length * 2 + 1 + 1 + 4 + 4);
let offset = header.write('CPG1', 0, 'ascii');
offset = header.writeUInt16BE(codes.length, offset);
for (const code of codes) offset += header.write(code, offset, 'ascii');
offset = header.writeUInt8(Number(V4.prefix), offset);
offset = header.writeUInt8(Number(V6.prefix), offset);
offset = header.writeUInt32BE(v4.length, offset);
header.writeUInt32BE(v6.length, offset);
fs.writeFileSync(new URL('ip-country.bin', OUT_DIR), Buffer.concat([header, records(v4), records(v6)]));

const csv = ['country,lat,lon', ...coordinates.map(([code, lat, lon]) => `${code},${lat},${lon}`)].join('\n') + '\n';
fs.writeFileSync(new URL('countries.csv', OUT_DIR), csv);
console.log(`ip-country.bin: ${v4.length} IPv4 runs (/${V4.prefix}), ${v6.length} IPv6 runs (/${V6.prefix}), ${codes.length} countries`);
