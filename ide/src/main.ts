const root = document.querySelector<HTMLDivElement>('#app')!;
root.textContent = 'Vaporform';
