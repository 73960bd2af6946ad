/** The fake RTCPeerConnection lives in `parley/testing` (src/testing/fake-peer-connection.ts), for users' tests too. */
export * from '../../src/testing/fake-peer-connection.js';
