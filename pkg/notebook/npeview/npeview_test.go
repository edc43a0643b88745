package npeview

import (
	"math"
	"testing"

	"github.com/lenssbi/lenssbi/pkg/npe"
)

func TestOnProgressRecordsCompletedEpochs(t *testing.T) {
	mon, on := LiveLoss()
	on(npe.Progress{Epoch: 1, Epochs: 2, Batch: 3, Batches: 10, TrainLoss: 9, ValLoss: math.NaN(), LearningRate: 1e-3})
	on(npe.Progress{Epoch: 1, Epochs: 2, Batch: 10, Batches: 10, TrainLoss: 4, ValLoss: 5, LearningRate: 1e-3, EpochDone: true})
	on(npe.Progress{Epoch: 2, Epochs: 2, Batch: 10, Batches: 10, TrainLoss: 2, ValLoss: 3, LearningRate: 5e-4, EpochDone: true})
	ep, tr, val, lr := mon.Curves()
	if len(ep) != 2 || ep[0] != 1 || ep[1] != 2 {
		t.Fatalf("epochs %v, want [1 2] (mid-epoch reports are not points)", ep)
	}
	if tr[0] != 4 || tr[1] != 2 || val[0] != 5 || val[1] != 3 || lr[1] != 5e-4 {
		t.Errorf("curves train %v val %v lr %v", tr, val, lr)
	}
	if err := mon.Err(); err != nil {
		t.Error(err)
	}
}

func TestReplayRestoresHistory(t *testing.T) {
	card := &npe.Card{Config: npe.DefaultConfig(npe.ModeJoint)}
	card.State.History = []npe.EpochRecord{
		{Epoch: 1, TrainLoss: 3, ValLoss: 3.5, LearningRate: 1e-3},
		{Epoch: 2, TrainLoss: 2, ValLoss: 2.5, LearningRate: 9e-4},
	}
	mon, on := LiveLoss()
	Replay(mon, card)
	Replay(mon, nil) // no-op
	on(npe.Progress{Epoch: 3, Epochs: 30, Batch: 10, Batches: 10, TrainLoss: 1, ValLoss: 1.5, LearningRate: 8e-4, EpochDone: true})
	ep, tr, val, _ := mon.Curves()
	if len(ep) != 3 || ep[0] != 1 || ep[2] != 3 || tr[1] != 2 || val[0] != 3.5 || val[2] != 1.5 {
		t.Errorf("after replay and one epoch: epochs %v train %v val %v", ep, tr, val)
	}
}
