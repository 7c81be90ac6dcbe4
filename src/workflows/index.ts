export { orderProcessing, statusQuery } from './order-processing.js';
