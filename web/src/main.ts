import '../style.css';
import { fill } from './dom.js';
import { onSessionChange, savedSession, start } from './session.js';
import { state } from './store.js';
import { loginView } from './views/login.js';
import { shellView } from './views/shell.js';

/** The weim web chat app: login, or the signed-in shell; built only on the client SDK (src/client). */
const root = document.getElementById('app')!;
let dispose = () => {};

function draw(): void {
  dispose();
  dispose = () => {};
  if (state.me) {
    const shell = shellView(draw);
    dispose = shell.dispose;
    fill(root, shell.el);
  } else fill(root, loginView(draw));
}

onSessionChange(() => draw());
const saved = savedSession();
if (saved) void start(saved.token, saved.user);
else draw();
