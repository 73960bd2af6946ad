/**
 * The entry of the inline script (vite.config.ts builds it into index.html): it asks for the camera
 * (early-media.ts), opens the connection to the server (early-socket.ts) and sets the chat
 * panel's first state (chat-panel.ts) before the page is laid out.
 */
import { openEarlySocket } from '../early-socket.js';
import { showChatAtStart } from './chat-panel.js';
import { requestEarlyMedia } from './early-media.js';

if (requestEarlyMedia()) openEarlySocket();
showChatAtStart();
