import { describe, expect, it } from 'vitest';
import { issueIceServers, turnPassword } from '../src/signaling/turn-credentials.js';

const config = {
  turnUrls: ['turn:turn.example.com:3478?transport=udp', 'turns:turn.example.com:5349'],
  turnSecret: 'north-sea',
  turnTtl: 86_400,
  stunUrls: ['stun:turn.example.com:3478'],
};

describe('TURN REST credentials', () => {
  it('signs the username with HMAC-SHA1 in base64, as coturn checks it', () => {
    // Reference value from: echo -n "1700086400:alice" | openssl dgst -sha1 -hmac north-sea -binary | base64
    expect(turnPassword('north-sea', '1700086400:alice')).toBe('QffDl1RgZbeZoAM37viPwEo5Gkk=');
  });

  it('issues a username that expires ttl seconds from now, for this client', () => {
    const { iceServers, ttl } = issueIceServers(config, 'alice', 1_700_000_000_500);
    expect(ttl).toBe(86_400);
    expect(iceServers).toEqual([
      { urls: ['stun:turn.example.com:3478'] },
      { urls: config.turnUrls, username: '1700086400:alice', credential: 'QffDl1RgZbeZoAM37viPwEo5Gkk=' },
    ]);
  });

  it('never puts the secret in what it issues', () => {
    expect(JSON.stringify(issueIceServers(config, 'bob'))).not.toContain('north-sea');
  });

  it('issues only STUN without a TURN secret, and nothing without servers', () => {
    expect(issueIceServers({ ...config, turnSecret: undefined }, 'x').iceServers).toEqual([{ urls: config.stunUrls }]);
    expect(issueIceServers({ turnUrls: [], stunUrls: [], turnSecret: 's', turnTtl: 60 }, 'x').iceServers).toEqual([]);
  });
});
