// Package npeview connects npe training to the notebook displays: it turns
// npe.TrainOptions.OnProgress reports into a live loss plot. It is separate
// from package notebook so that notebooks that do not train do not link GoMLX.
package npeview

import (
	"github.com/lenssbi/lenssbi/pkg/notebook"
	"github.com/lenssbi/lenssbi/pkg/npe"
	"github.com/lenssbi/lenssbi/pkg/plot"
)

// OnProgress returns a function for npe.TrainOptions.OnProgress that feeds m.
func OnProgress(m *notebook.LossMonitor) func(npe.Progress) {
	return func(p npe.Progress) {
		m.Observe(p.Epoch, p.Epochs, p.Batch, p.Batches, p.TrainLoss, p.ValLoss, p.LearningRate, p.ImagesPerSec, p.EpochDone)
	}
}

// LiveLoss returns a new notebook.LossMonitor with default options and its
// OnProgress function, e.g.
//
//	mon, onProgress := npeview.LiveLoss()
//	opts := npe.TrainOptions{OnProgress: onProgress}
func LiveLoss() (*notebook.LossMonitor, func(npe.Progress)) {
	m := notebook.NewLossMonitor(plot.LossOptions{})
	return m, OnProgress(m)
}

// Replay feeds m the completed epochs recorded in card's training history,
// so that a monitor for a resumed run shows the whole curve, not only the
// epochs of this call. A nil card replays nothing.
func Replay(m *notebook.LossMonitor, card *npe.Card) {
	if card == nil {
		return
	}
	for _, e := range card.State.History {
		m.Observe(e.Epoch, card.Config.Epochs, 0, 0, e.TrainLoss, e.ValLoss, e.LearningRate, 0, true)
	}
}
