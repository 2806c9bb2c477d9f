// A validator: key, organisation, whether it is online, and its node certificate.

import { api } from '../api.js';
import { badge, facts, h, link, mono, notice, replace, section, time, ago } from '../dom.js';
import { certStatus, expiry } from './org.js';

export async function render({ main, signal }, key) {
  const vals = await api.validators();
  if (signal.aborted) return;
  const v = vals.validators.find((x) => x.public_key === key.toLowerCase());
  if (!v) {
    replace(
      main,
      h('h1', {}, 'Validator not found'),
      notice(`No validator of the current epoch (${vals.epoch}) has the key ${key}.`, 'error'),
      h('p', {}, link('', 'Back to the dashboard')),
    );
    return;
  }
  const certs = await api.certs(v.org).catch(() => ({ certs: [] }));
  if (signal.aborted) return;
  const nodeCerts = certs.certs.filter((c) => c.role === 'node' && c.public_key === v.public_key);
  replace(
    main,
    h('h1', {}, `Validator ${v.name}`),
    section(
      'Overview',
      facts([
        ['Name', v.name],
        ['Organisation', link(`org/${encodeURIComponent(v.org)}`, v.org)],
        ['Status', [v.online ? badge('online', 'ok') : badge('offline', 'bad'), v.is_self ? ' · the node serving this page' : '']],
        [
          'Last seen',
          v.is_self
            ? 'now (the node serving this page)'
            : v.last_seen_ms !== undefined
              ? `${ago(Date.now() - v.last_seen_ms)} (${time(Date.now() - v.last_seen_ms)}), by the node serving this page`
              : 'not heard from since the node serving this page started',
        ],
        ['Public key', mono(v.public_key)],
        v.address ? ['Address', mono(v.address)] : null,
        ['Epoch', `${vals.epoch} · ${vals.total} validators, quorum ${vals.quorum}`],
      ]),
    ),
    section(
      'Node certificate',
      nodeCerts.length
        ? nodeCerts.map((c) =>
            facts([
              ['Holder', `${c.name} (${c.role}) of ${c.org}`],
              ['Status', certStatus(c)],
              ['Valid until', expiry(c.not_after_ms)],
              ['Serial', mono(c.serial)],
              ['Certificate id', mono(c.id)],
              ['Registered', link(`block/${c.registered_at}`, `block ${c.registered_at}`)],
            ]),
          )
        : h('p', { class: 'muted' }, `No node certificate for this key is in the chain's registry yet (${v.org}'s certificates are registered when first used on chain).`),
    ),
  );
}
