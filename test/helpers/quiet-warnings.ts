import '../../local/src/node-warnings';
