export { loadSettings, type Settings, type SettingsOverrides } from './settings.js';
